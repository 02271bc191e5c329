"""Credentials of workflow nodes: what a node needs and whether n8n accepts a credential
(`needs`), and the project's secrets turned into n8n credentials bound to nodes (`sync`)."""
