"""Call scripts: a form of fields and branches an agent follows on a campaign's or a queue's calls."""
