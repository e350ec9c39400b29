"""The recordings repository: a row and a file per recorded call, retention, legal hold, encryption."""
