"""What the records mean: the timeline of a run, and downsampling for drawing."""
