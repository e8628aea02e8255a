// Package discoverytest gives node agent tests what discovery runs on: the
// sysfs fixture trees under nodeagent/testdata and a network namespace with
// real veth netdevs named like the fixture's NICs. Tests only; needs root.
package discoverytest
