"""Cost: the weekly report against the estimate and the budget."""
