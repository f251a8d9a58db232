"""What the records mean: the timeline of a run, its training sessions, and downsampling for drawing."""
