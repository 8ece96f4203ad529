"""What checks talk to: a student's server in a host process (`Session`), a student's client
as a program (`ClientLab`), socket clients with deadlines (`driver`), and a reference server."""
