"""Chat without a chat client: which run or workflow a thread belongs to (`threads`) and what a
reply in a thread asks for (`intent`)."""
