"""Tools for data engineers over the raw topics: archive, replay, reprocess, import, inspect.

==================  =====================================================================
``archive``         ``chatsync archive``: every raw record to S3, gzip JSON Lines, one object
                    per batch with a deterministic name (``records``, ``objects``,
                    ``archive_store``, ``archiver``)
``replay``          ``chatsync replay``: raw records from a topic or the archive into a raw
                    topic, resumable (``sources``, ``plan``, ``checkpoint``, ``replayer``), or
                    a fresh consumer group of the worker (``worker_target``)
``reprocess``       ``chatsync reprocess``: reset the worker so it derives everything again
``import``          ``chatsync import-export``: a Telegram Desktop export as ``export``
                    records of the raw mtproto topic (``export``)
``topics``          ``chatsync topics list | describe | tail``
==================  =====================================================================
"""
