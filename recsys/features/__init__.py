"""Features the models learn from: closest raters, era means, activity statistics."""
