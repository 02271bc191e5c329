"""Use cases: one function per thing a user does, whatever the front end.

This is where a request from Slack, the CLI or the HTTP API becomes work. Each module holds the
actions of one part of the product (`requests`: ask for a workflow and follow the run;
`dashboard`: projects, workflows, quota; `versions`; `run_now`; `accounts`; `secrets`;
`workflows`). Every use case:

- takes the acting user as an `Actor` (workspace, user) and its dependencies as keyword
  arguments (`session_factory`, `settings`, `n8n`, the pipeline's services), never a session;
- decides everything a front end must not: which project (the actor's active one unless an id
  is given), which role it needs (`core.workspace.projects.project_for`), what to read;
- opens its own short transactions, and calls n8n, the LLM or Slack only with none open;
- returns a typed result (a frozen dataclass or a stored row, detached) and raises a
  `ClixenError` (`core.kernel.errors`) for anything the user should be told.

A front end (`bot/`, `cli/`, `api/`) parses its input, calls ONE use case and renders what it
returns: it names no role, opens no session, runs no query (`tests/test_architecture.py`).
A new user action is a new function here (in the module of its part of the product, or a new
module), then one listener/command/endpoint per front end that calls it. For example, asking
for a workflow is `requests.request_run(pipeline, settings=…, actor=Actor(team, user),
text=…)`: Slack's `bot.run_threads.start_request` and the CLI's `clixen create` both call it,
and each shows the `RequestedRun` it returns in its own way. A project is named the way the
front end knows it (`projects.ProjectRef`: an id from a chat button, a name from a command
line, None for the actor's active project); the use case checks the role its action needs.
"""

from core.workspace.projects import Actor

__all__ = ["Actor"]
