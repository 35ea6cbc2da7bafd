"""A team's agent as small as it gets: read the case document, ask Claude once, print the answer.

The ``command`` agent of the agent benchmark (``bench_agents.py``); the same script, given
``ANTHROPIC_BASE_URL`` of the loopback server directly, is also its floor.
"""

import json
import sys

import anthropic

document = json.load(sys.stdin)
client = anthropic.Anthropic()
message = client.messages.create(
    model="claude-haiku-4-5",
    max_tokens=200,
    system=document["prompt"]["system"],
    messages=[{"role": "user", "content": document["prompt"]["user"]}],
)
print(message.content[0].text)
