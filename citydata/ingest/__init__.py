"""One delivery end to end: the landing zone, the watcher, readers, coercion, the pipeline, quarantine
replay, and the functions the DAG tasks call."""
