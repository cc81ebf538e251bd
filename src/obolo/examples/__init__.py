"""Example provider sites, built only on the provider SDK (`obolo.sdk`), as a
provider's own code would be."""
