package avatar_test

import (
	"fmt"

	"github.com/hanashi-chat/hanashi/avatar"
)

func ExampleGravatar() {
	fmt.Println(avatar.Gravatar(" Test@Example.com "))
	// Output: https://www.gravatar.com/avatar/973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b?s=256&d=404
}
