//! Policy file model and pure evaluation: no I/O, no async, no logging.
