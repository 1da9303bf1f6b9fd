"""Generation backends: prompts × k samples with decoding parameters in; texts, token counts and finish reasons out."""
