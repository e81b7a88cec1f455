package inmem_test

import (
	"testing"

	"github.com/hanashi-chat/hanashi"
	"github.com/hanashi-chat/hanashi/brokertest"
	"github.com/hanashi-chat/hanashi/inmem"
)

func TestBroker(t *testing.T) {
	brokertest.Test(t, func(t *testing.T) hanashi.Broker { return inmem.NewBroker() })
}
