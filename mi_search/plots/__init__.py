"""Figures people would rather look at than read: one module per figure, one style for all."""
