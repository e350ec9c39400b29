"""Customer Journey: contact matching and the timeline of every interaction."""
