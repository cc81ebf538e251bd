"""Microtasks: employers post paid tasks held in escrow; workers are paid the moment work is approved."""
