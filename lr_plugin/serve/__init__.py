"""How the records are served: the TensorBoard loader (entry point) and the plugin routes."""
