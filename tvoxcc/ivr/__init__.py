"""IVR: declarative flows per tenant service, their validation and a pure interpreter."""
