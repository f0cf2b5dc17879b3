"""What users do with mail: actions on messages, drafts, replies, uploads, the reading view's model."""
