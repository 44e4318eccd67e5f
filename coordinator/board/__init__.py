"""The board: incidents, task states, step runs, criterion results and ticks."""
