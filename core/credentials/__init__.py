"""Credentials of workflow nodes, in one place: what a node needs is the catalog's table
(`core.catalog.credential_needs`), read against the project's secrets and whether n8n accepts a
credential (`needs`), which project secret a node gets (`resolve`, pure: used by the pipeline and
the deploy gate alike), the project's secrets (`secrets`) and connected accounts (`accounts`) —
the only modules that write `Secret` rows — and their n8n credentials, written with no database
transaction open (`sync`)."""
