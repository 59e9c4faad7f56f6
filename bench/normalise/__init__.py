"""bench/normalise: raw updates normalised per second by one worker, against a bare aiokafka
consume-and-forward loop over the same records (see ``run``)."""
