"""Tasks: where questions and gold answers come from, and how a question becomes a prompt."""
