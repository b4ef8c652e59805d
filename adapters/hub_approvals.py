"""Approvals of the order hub: one task per required (role, level) of an order's current version.

In: a task id, approve or reject, a comment, the acting key. Out: the task after acting, with
the order's status. A task is acted on by a key that may approve for its role; every task of
a lower level must be approved first. One rejection rejects the order (the other open tasks are
cancelled); when every task is approved the order is accepted. `act_in` runs in the caller's
transaction (api/usecases/orders.py `act_on_task` has orchestration follow in the same one).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from .hub_rows import task_json
from .models import ApprovalTask, Order, OrderVersion
from .store import Conflict, Forbidden, Invalid, NotFound, clean, now
from .store_keys import KeyInfo


class Approvals:
    """The approvals of `Hub` (adapters/hub.py)."""

    def tasks(self, role: str | None = None, state: str = "open",
              order_id: str | None = None, limit: int = 500,
              for_key: KeyInfo | None = None) -> list[dict]:
        """Tasks, oldest first; with `for_key`, only those that key may act on."""
        q = select(ApprovalTask).order_by(ApprovalTask.id).limit(limit)
        if for_key is not None and for_key.role != "admin":
            q = q.where(ApprovalTask.role.in_(for_key.approves or ("",)))
        if state != "all":
            q = q.where(ApprovalTask.state == state)
        if role:
            q = q.where(ApprovalTask.role == role)
        if order_id:
            q = q.where(ApprovalTask.order_id == order_id)
        with self.db.session() as s:
            return [task_json(t) for t in s.scalars(q)]

    def act(self, task_id: int, action: str, comment: str | None, key: KeyInfo) -> dict:
        """`act_in` in a transaction of its own (the hub alone)."""
        with self.db.session(write=True) as s:
            return self.act_in(s, task_id, action, comment, key)

    def act_in(self, s: Any, task_id: int, action: str, comment: str | None,
               key: KeyInfo) -> dict:
        """Approve or reject a task in the caller's transaction (the order's row is locked
        until its commit)."""
        if action not in ("approve", "reject"):
            raise Invalid("action must be \"approve\" or \"reject\"", code="BAD_ACTION",
                          path="$.action")
        comment = clean(comment)
        task = s.get(ApprovalTask, task_id)
        if task is None:
            raise NotFound(f"no approval task {task_id}", code="TASK_NOT_FOUND")
        # Lock the order: acts on one order's tasks happen one at a time.
        order = s.get(Order, task.order_id, with_for_update=not self.db.is_sqlite)
        s.refresh(task)
        if not key.may_approve(task.role):
            raise Forbidden(f"key {key.name!r} may not approve for role {task.role!r}",
                            code="NOT_YOUR_ROLE")
        if task.state != "open":
            raise Conflict(f"approval task {task_id} is already {task.state}",
                           code="TASK_CLOSED")
        siblings = list(s.scalars(select(ApprovalTask).where(
            ApprovalTask.order_id == task.order_id,
            ApprovalTask.order_version == task.order_version)))
        waiting = [t for t in siblings if t.level < task.level and t.state != "approved"]
        if waiting:
            names = ", ".join(f"{t.role} (level {t.level})" for t in waiting)
            raise Conflict(f"level {task.level} cannot act before level(s) below it are "
                           f"approved: {names}", code="LOWER_LEVEL_OPEN")
        t = now()
        task.state = "approved" if action == "approve" else "rejected"
        task.acted_by = key.name
        task.acted_at = t
        task.comment = comment
        if action == "reject":
            for other in siblings:
                if other.id != task.id and other.state == "open":
                    other.state = "cancelled"
                    other.acted_at = t
                    other.comment = f"order rejected at task {task.id}"
            order.status = "rejected"
        elif all(x.state == "approved" for x in siblings):
            order.status = "accepted"
        order.updated_at = t
        s.execute(update(OrderVersion).where(
            OrderVersion.order_id == order.id, OrderVersion.version == order.version)
            .values(status=order.status))
        self._audit(s, key, action, order.id, None,
                    f"task {task.id} {task.role} level {task.level}"
                    + (f": {comment}" if comment else ""))
        s.flush()
        out = task_json(task)
        out["order_status"] = order.status
        return out
