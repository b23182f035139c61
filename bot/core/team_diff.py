"""What importing a teams file would change, team by team and member by member (`config import`)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

from bot.core.teams import Member, TeamPolicy

_MEMBER_FIELDS = ("role", "manager_id", "paired_ae_id")


@dataclass(frozen=True)
class TeamChange:
    team_id: str
    settings: tuple[str, ...] = ()  # "sla_hours: 8 → 4", one per setting that differs
    members_added: tuple[Member, ...] = ()
    members_removed: tuple[Member, ...] = ()
    members_changed: tuple[str, ...] = ()  # "U1: sdr → ae"
    order_changed: bool = False  # the AEs' round-robin order follows the file's

    def __bool__(self) -> bool:
        return bool(self.settings or self.members_added or self.members_removed or self.members_changed
                    or self.order_changed)


@dataclass(frozen=True)
class TeamsChange:
    added: tuple[TeamPolicy, ...] = ()
    removed: tuple[TeamPolicy, ...] = ()
    changed: tuple[TeamChange, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    @property
    def destructive(self) -> bool:
        """Whole teams would go: the import asks for --replace."""
        return bool(self.removed)


def _show(value: Any) -> str:
    if isinstance(value, frozenset):
        return ",".join(str(v) for v in sorted(value)) or "none"
    if hasattr(value, "strftime"):
        return f"{value:%H:%M}"
    if value is None:
        return "none"
    return str(value)


def _team_change(old: TeamPolicy, new: TeamPolicy) -> TeamChange:
    settings = []
    for f in fields(TeamPolicy):
        if f.name in ("id", "members"):
            continue
        before, after = getattr(old, f.name), getattr(new, f.name)
        if before != after:
            if f.name == "reject_reasons":
                settings.append("reject_reasons changed")
            else:
                settings.append(f"{f.name}: {_show(before)} → {_show(after)}")
    was = {m.user_id: m for m in old.members}
    now = {m.user_id: m for m in new.members}
    changed = []
    for user in sorted(was.keys() & now.keys()):
        diffs = [f"{name} {_show(getattr(was[user], name))} → {_show(getattr(now[user], name))}"
                 for name in _MEMBER_FIELDS if getattr(was[user], name) != getattr(now[user], name)]
        if diffs:
            changed.append(f"{user}: {', '.join(diffs)}")
    kept_order = [m.user_id for m in old.members if m.user_id in now]
    new_order = [m.user_id for m in new.members if m.user_id in was]
    return TeamChange(
        new.id, tuple(settings),
        members_added=tuple(m for m in new.members if m.user_id not in was),
        members_removed=tuple(m for m in old.members if m.user_id not in now),
        members_changed=tuple(changed), order_changed=kept_order != new_order,
    )


def diff_teams(current: Iterable[TeamPolicy], incoming: Iterable[TeamPolicy]) -> TeamsChange:
    old = {t.id: t for t in current}
    new = {t.id: t for t in incoming}
    changes = [_team_change(old[i], new[i]) for i in sorted(old.keys() & new.keys())]
    return TeamsChange(
        added=tuple(new[i] for i in sorted(new.keys() - old.keys())),
        removed=tuple(old[i] for i in sorted(old.keys() - new.keys())),
        changed=tuple(c for c in changes if c),
    )


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def describe(change: TeamsChange) -> list[str]:
    """The change as lines for a person: + added, - removed, ~ changed."""
    if change.empty:
        return ["no change: the database already has these teams"]
    lines = []
    for t in change.added:
        lines.append(f"+ team {t.id} ({t.name}): {_count(len(t.members), 'member')}")
    for t in change.removed:
        lines.append(f"- team {t.id} ({t.name}) and its {_count(len(t.members), 'member')}: removed")
    for c in change.changed:
        lines.append(f"~ team {c.team_id}")
        lines += [f"    {s}" for s in c.settings]
        lines += [f"    + member {m.user_id} ({m.role})" for m in c.members_added]
        lines += [f"    - member {m.user_id} ({m.role})" for m in c.members_removed]
        lines += [f"    ~ member {s}" for s in c.members_changed]
        if c.order_changed:
            lines.append("    members reordered (the AEs' round-robin order)")
    return lines
