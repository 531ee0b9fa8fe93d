"""What the comments app announces after a write, for the apps above it to act on.

Sent with `sender=Comment` inside the writing service's transaction, after the row is
written; a receiver that raises rolls the comment back.
"""

from django.dispatch import Signal

# comment: a new comment on a task.
comment_created = Signal()
