"""Kamailio in front of N Asterisk nodes: config rendering and the lab process."""
