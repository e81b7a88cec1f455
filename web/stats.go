package web

// Connections returns how many WebSockets the server has open, for
// monitoring. A connection counts from its upgrade until it has closed.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}
