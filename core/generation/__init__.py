"""Everything the model is told and how its reply is read.

`retrieval` picks node specs and examples for a request (`specs`, `node_hints`, `guides`,
`templates`), `prompts` and `edit_prompts` build the messages for create, repair and edit, `llm`
is the OpenAI-compatible client, `replies` parses a reply and applies the fixes that need no LLM,
`edits` applies edit operations. `turns` is what the pipeline's steps call: one turn with the
model (prompt, messages, what the reply gave).
"""
