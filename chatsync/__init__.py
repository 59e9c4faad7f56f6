"""chatsync: Telegram conversations kept in sync with deals, customers and messages over Kafka."""

__version__ = "0.1.0"
