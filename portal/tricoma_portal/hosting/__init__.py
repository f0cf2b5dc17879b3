"""The portal's side of the hosting stack (scripts/hostingstack.py): password hashes Dovecot
checks, DKIM keys OpenDKIM signs with, the DNS records a domain needs and their check, and
``provisioning.HostingStack``, the client that makes mailboxes live and removes them."""
