package api

// LayerListings is the semaphore bounding the layer listings read at once.
var LayerListings = layerListings
