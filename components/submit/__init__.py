"""submit: predictions <-> the competition CSV."""
