"""The voice service: the Stasis application that owns every inbound call (`tvoxcc voice run`)."""
