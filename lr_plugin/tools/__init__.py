"""What users run: ``lr-plugin export``, ``replay`` and ``demo``."""
