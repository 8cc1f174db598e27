"""Adapters of the kernel's ports, each chosen by URL (see :mod:`crm.kernel.adapters.urls`)."""
