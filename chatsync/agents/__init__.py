"""Faust agents: raw Telegram updates in, normalised deal, customer and message events out."""
