"""Who may do what with which mailbox: the rights catalogue, checks, the matrix, the host's directory."""
