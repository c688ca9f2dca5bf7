package ipc

// WriteRawToLane writes b on the client's lane i, bypassing the framing.
func WriteRawToLane(c *Client, i int, b []byte) {
	_, _ = c.streams[i].st.Write(b)
}
