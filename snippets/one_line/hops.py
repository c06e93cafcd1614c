"""How many hand-offs separate the first word from the last output?"""
from collections import deque

n = 6  # words

# An edge (a, b) means "b is computed directly from a".
line = [(f"x{t}", f"h{t}") for t in range(n)]  # each word enters its state
line += [(f"h{t - 1}", f"h{t}") for t in range(1, n)]  # state to state
room = [(f"x{s}", f"y{t}") for s in range(n) for t in range(n)]


def route(edges, start, goal):
    """Breadth-first search for a path from start to goal (in both graphs here
    there is exactly one, so it is also the longest)."""
    after = {}
    for a, b in edges:
        after.setdefault(a, []).append(b)
    queue, seen = deque([[start]]), {start}
    while queue:
        path = queue.popleft()
        if path[-1] == goal:
            return path
        for nxt in after.get(path[-1], []):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(path + [nxt])
    raise ValueError(f"{goal} cannot be reached from {start}")


whisper = route(line, "x0", f"h{n - 1}")
look = route(room, "x0", f"y{n - 1}")
print("recurrence:", " -> ".join(whisper))
print(f"            {len(whisper) - 2} hand-offs between positions")
print("attention: ", " -> ".join(look))
print(f"            {len(look) - 1} hand-off: a direct look")
assert len(whisper) - 2 == n - 1 and len(look) - 1 == 1
