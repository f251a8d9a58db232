"""How lr_plugin stores what it records: the contract (metadata), the writer and the reader."""
