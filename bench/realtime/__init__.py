"""bench.realtime: webhook POST to WebSocket frame latency through the whole pipeline."""
