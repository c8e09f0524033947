"""Read models built from Space and people events; each keeps its SQL next to its handlers."""
