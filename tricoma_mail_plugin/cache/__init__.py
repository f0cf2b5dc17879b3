"""The local cache of each mailbox: sync, intents (changes on their way to the server), bodies, listing, search."""
