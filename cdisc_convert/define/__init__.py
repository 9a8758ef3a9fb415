"""define.xml 2.1: building, rendering and checking it."""
