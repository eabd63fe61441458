"""reelstack's CrossGuard policy pack (``pulumi preview --policy-pack policies``) and its offline runner."""
