"""Sinks: the normalised topics written into the stores the API reads.

One port (``base.BatchingSink``: add a record, flush a batch at commit time, raise
``SinkBackpressure`` with a retry-after when the store cannot take it now) and two adapters:
``postgres.PostgresSink`` (``chat.deals``, ``chat.customers`` -> ``deals``, ``customers``) and
``dynamodb.DynamoDBSink`` (``chat.messages`` -> the messages table, plus the fully-synced
bookkeeping in ``deal_messages_stored``). Batching, retries with backoff and offset safety are
written once, in the runner (``chatsync.agents.sinks``); the pure rules (newest version per key,
the edit history, the visibility rule) live apart from the I/O so they are tested in milliseconds.
"""
