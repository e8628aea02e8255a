package railpath

// coordinator says whether the story chains railnet-coordinator.
const coordinator = true
